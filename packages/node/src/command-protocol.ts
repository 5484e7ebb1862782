import type { CommandResult } from './components.js';
import type { SystemgeNode } from './node-types.js';
import type { AnyTopics, TopicMap } from './components.js';

/** The failure text of a command request over Systemge: JSON of this shape. */
export interface CommandFailure {
  code: string | undefined;
  message: string;
  /** The node's commands, when the command was unknown. */
  available: string[] | undefined;
}

/** Reads a command failure text; plain text (from older links) becomes a message without a code. */
export function parseCommandFailure(text: string): CommandFailure {
  try {
    const value = JSON.parse(text) as Partial<CommandFailure>;
    if (typeof value === 'object' && value !== null && typeof value.message === 'string') {
      return {
        code: typeof value.code === 'string' ? value.code : undefined,
        message: value.message,
        available: Array.isArray(value.available) ? value.available.map(String) : undefined,
      };
    }
  } catch {
    // Not JSON: keep the text.
  }
  return { code: undefined, message: text, available: undefined };
}

/** The response payload of a command request: JSON `{ "result": <text or data> }`. */
export function encodeCommandResult(result: CommandResult): string {
  return JSON.stringify({ result: result ?? null });
}

/**
 * Reads a command response payload. `{ "result": … }` gives the result; any other text (from
 * links that answered with plain text) is returned as that text.
 */
export function decodeCommandResult(text: string): CommandResult {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const keys = Object.keys(value);
      if (keys.length === 1 && keys[0] === 'result') return (value as { result: CommandResult }).result;
    }
  } catch {
    // Plain text.
  }
  return text;
}

/** The request payload of a command request. */
export interface CommandRequest {
  command: string;
  args: string[];
}

/** Reads `{ command, args }`; throws a failure text for anything else. */
export function parseCommandRequest(text: string): CommandRequest {
  let request: { command?: unknown; args?: unknown };
  try {
    request = JSON.parse(text) as typeof request;
  } catch {
    throw failure({ code: undefined, message: 'the request must be JSON {"command": string, "args"?: string[]}', available: undefined });
  }
  if (typeof request !== 'object' || request === null || typeof request.command !== 'string') {
    throw failure({ code: undefined, message: 'command must be a string', available: undefined });
  }
  const args = Array.isArray(request.args) ? request.args.map(String) : [];
  return { command: request.command, args };
}

/** An Error whose message is the JSON failure text (a sync handler's throw becomes the failure text). */
export function failure(value: CommandFailure): Error {
  return new Error(JSON.stringify(value));
}

/** Runs a command request on `node`; resolves with the response payload, rejects with a JSON failure text. */
export async function answerCommandRequest<T extends TopicMap = AnyTopics>(
  node: SystemgeNode<T>,
  request: CommandRequest,
): Promise<string> {
  try {
    return encodeCommandResult(await node.command(request.command, request.args));
  } catch (error) {
    // The failure text is JSON so the caller gets the code (and, for an unknown command, the list).
    const e = error as { code?: unknown; message?: unknown; available?: unknown };
    throw failure({
      code: typeof e.code === 'string' ? e.code : undefined,
      message: typeof e.message === 'string' ? e.message : String(error),
      available: Array.isArray(e.available) ? e.available.map(String) : undefined,
    });
  }
}
