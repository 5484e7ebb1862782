import { type Connection, type MessageKind, type Payload, type SyncTokenInput, syncTokenText } from '@systemge/protocol';

/**
 * Sends one message frame given by its fields: without a frame object where the connection can
 * (`sendMessage`), else through `send`. For text and bytes payloads; a structured payload sent to
 * several peers goes through one frame (`send`), which packs it once.
 */
export function sendFields(
  connection: Connection,
  kind: MessageKind,
  topic: string,
  payload: Payload,
  syncToken: SyncTokenInput | undefined,
): boolean {
  return connection.sendMessage !== undefined
    ? connection.sendMessage(kind, topic, payload, syncToken)
    : connection.send({ kind, topic, payload, syncToken: syncTokenText(syncToken) });
}
