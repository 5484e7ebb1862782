export { AddressList, InvalidAddressError, unmapIPv4, type InvalidEntryError } from './address-list.js';
export { TokenBucket } from './token-bucket.js';
export { tokensEqual, TokenCheck } from './token-check.js';
export { isLoopbackHost, formatHost } from './hosts.js';
