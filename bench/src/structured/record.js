/** The 10-field record both variants of the structured-payloads scenario carry. */
export function record(i) {
  return {
    id: i,
    sku: 'SKU-000123-EU',
    name: 'Systemge mug, 350 ml',
    price: 12.5,
    quantity: 3,
    inStock: true,
    tags: ['kitchen', 'gift', 'blue'],
    warehouse: 'fra-2',
    discount: null,
    updatedAt: 1767225600000,
  };
}

/** What the receiver reads from each record, so both variants hand the application usable data. */
export function check(value) {
  return typeof value.id === 'number' && value.tags.length === 3 && value.price === 12.5;
}
