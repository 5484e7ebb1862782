import { FrameKind, type MessageKind, type Payload } from '@systemge/protocol';
import { describe, expect, it } from 'vitest';
import { sendFields } from '../../src/messaging/send-fields.js';
import { FakeConnection } from './fakes.js';

/** A connection that can send a message by its fields, recording each call. */
class FieldsConnection extends FakeConnection {
  readonly fields: [MessageKind, string, Payload, string | undefined][] = [];
  sendMessage(kind: MessageKind, topic: string, payload: Payload, syncToken: string | undefined): boolean {
    this.fields.push([kind, topic, payload, syncToken]);
    return this.writable;
  }
}

describe('sendFields', () => {
  it('uses sendMessage where the connection has it, and builds no frame', () => {
    const connection = new FieldsConnection();
    expect(sendFields(connection, FrameKind.SyncResponse, 'q', 'pong', 'tok')).toBe(true);
    expect(connection.fields).toEqual([[FrameKind.SyncResponse, 'q', 'pong', 'tok']]);
    expect(connection.sent).toEqual([]);
  });

  it('falls back to send(frame) for a connection without sendMessage (custom transports)', () => {
    const connection = new FakeConnection();
    connection.writable = false;
    expect(sendFields(connection, FrameKind.AsyncMessage, 'a', 'hi', undefined)).toBe(false);
    expect(connection.sent).toEqual([{ kind: FrameKind.AsyncMessage, topic: 'a', payload: 'hi', syncToken: undefined }]);
  });
});
