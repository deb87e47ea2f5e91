import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SseParser, type SseMessage } from '../../src/client/sse.js';

/* The Server-Sent Events parser, as the HTML standard reads a stream, however it is cut into chunks. */

function parse(chunks: string[], lastEventId?: string): { messages: SseMessage[]; retries: number[]; parser: SseParser } {
  const messages: SseMessage[] = [];
  const retries: number[] = [];
  const parser = new SseParser({ message: (m) => messages.push(m), retry: (ms) => retries.push(ms) }, lastEventId);
  for (const chunk of chunks) parser.push(chunk);
  return { messages, retries, parser };
}

const STREAM = 'retry: 2000\n\n: heartbeat\n\nid: 1\ndata: {"a":1}\n\nid: 2\nevent: notice\ndata: line one\ndata: line two\n\ndata: no id\n\n';

test('messages, ids, events, multi-line data, retry and comments', () => {
  const { messages, retries, parser } = parse([STREAM]);
  assert.deepEqual(retries, [2000]);
  assert.deepEqual(messages, [
    { lastEventId: '1', event: 'message', data: '{"a":1}' },
    { lastEventId: '2', event: 'notice', data: 'line one\nline two' },
    { lastEventId: '2', event: 'message', data: 'no id' },
  ]);
  assert.equal(parser.lastEventId, '2');
});

test('the same messages however the stream is split, byte by byte included, with CRLF and CR line ends', () => {
  const expected = parse([STREAM]).messages;
  for (const text of [STREAM, STREAM.replace(/\n/g, '\r\n'), STREAM.replace(/\n/g, '\r')]) {
    assert.deepEqual(parse([...text]).messages, expected);
    for (let cut = 1; cut < text.length; cut += 7) assert.deepEqual(parse([text.slice(0, cut), text.slice(cut)]).messages, expected);
  }
});

test('a message cut before its blank line is not dispatched, and the id to resume from stays the last whole one', () => {
  const { messages, parser } = parse(['\uFEFFid: 7\ndata: whole\n\nid: 8\ndata: cut'], '3');
  assert.deepEqual(messages.map((m) => m.data), ['whole']);
  assert.equal(parser.lastEventId, '7');
  assert.equal(parse([]).parser.lastEventId, undefined);
  assert.equal(parse([''], '3').parser.lastEventId, '3');
});

test('an id with NUL is ignored, a bad retry too; an id-only message moves the id without a message', () => {
  const { messages, retries, parser } = parse(['id: 5\0\ndata: x\n\nretry: soon\n\nid: 9\n\n']);
  assert.deepEqual(messages, [{ lastEventId: undefined, event: 'message', data: 'x' }]);
  assert.deepEqual(retries, []);
  assert.equal(parser.lastEventId, '9');
});
