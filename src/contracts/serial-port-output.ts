import { Type, type Static } from '@sinclair/typebox';
import { API_BASE } from './api.js';
import { INSTANCE_EXAMPLE } from './instance.js';

/*
 * GCE's instances.getSerialPortOutput: a piece of an instance's console, read on from `next`. Offsets count bytes of
 * everything the console printed since the machine was made; they are int64s, written as decimal strings as GCE's JSON
 * writes them (and as this API writes event ids).
 */

const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

export const SerialPortOutputQuerySchema = Type.Object(
  {
    start: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_OFFSET,
        description:
          'The byte to read from: 0 (the default) for the oldest kept, or the next of the previous answer. Older than what is kept ' +
          '(the last 1 MiB): the answer starts at the oldest kept byte, and says so in start. At or past the end: empty contents.',
        examples: [0, 2048],
      }),
    ),
    port: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1, description: 'The serial port: only 1, the console, is kept (GCE numbers ports 1 to 4; default 1)', examples: [1] }),
    ),
  },
  // An unknown parameter is refused, never ignored.
  { additionalProperties: false },
);
export type SerialPortOutputQuery = Static<typeof SerialPortOutputQuerySchema>;

const OFFSET = { pattern: '^[0-9]{1,16}$', maxLength: 16 } as const;

const EXAMPLE_CONTENTS = `Gale simulated machine ${INSTANCE_EXAMPLE.id}\r\nBooting from Hard Disk 0...\r\n${INSTANCE_EXAMPLE.id} login: `;
const SERIAL_PORT_OUTPUT_EXAMPLE = {
  kind: 'compute#serialPortOutput',
  contents: EXAMPLE_CONTENTS,
  start: '0',
  next: String(Buffer.byteLength(EXAMPLE_CONTENTS)),
  selfLink: `${API_BASE}/instances/${INSTANCE_EXAMPLE.id}/serialPortOutput`,
} as const;

export const SerialPortOutputSchema = Type.Object(
  {
    kind: Type.Literal('compute#serialPortOutput', { description: "Always compute#serialPortOutput, as GCE's" }),
    contents: Type.String({
      description:
        'The console output from start to next, as UTF-8 text (bytes that are not UTF-8 read as U+FFFD): count offsets with start and next, never with its length',
    }),
    start: Type.String({
      ...OFFSET,
      description: 'The byte offset contents begin at (an int64 as a decimal string): the start asked, or later when older output is no longer kept',
      examples: ['0'],
    }),
    next: Type.String({
      ...OFFSET,
      description: 'The offset of the byte after contents, whether or not it has been printed yet: send it as start to read on',
      examples: ['2048'],
    }),
    selfLink: Type.String({ description: 'Where this was read: the route, without its query', examples: [SERIAL_PORT_OUTPUT_EXAMPLE.selfLink] }),
  },
  {
    $id: 'SerialPortOutput',
    additionalProperties: false,
    description: "A piece of an instance's serial console output",
    examples: [SERIAL_PORT_OUTPUT_EXAMPLE],
  },
);
export type SerialPortOutputView = Static<typeof SerialPortOutputSchema>;
