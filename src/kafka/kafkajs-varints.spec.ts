/**
 * kafkajs 2.2.4's variable-length integers and record encoding, as `patches/kafkajs+2.2.4.patch`
 * leaves them (README decision 86): a varint is written into the encoder's buffer in place (it was
 * an array and a Buffer per number), a varlong that fits 32 bits is written as the varint it equals
 * and read back without a 64-bit integer per byte, and a record's encoder is sized for the record.
 * The bytes must not change: they are checked here against Kafka's encoding written out with
 * BigInt (zigzag, then LEB128), and records against a decoding of their own fields.
 */

// Internal to kafkajs and untyped, like the modules kafkajs-grouping.spec.ts reads.
/* eslint-disable @typescript-eslint/no-require-imports */
interface KafkaLong {
  value: bigint;
}
interface EncoderType {
  buffer: Buffer;
  writeVarInt(value: number): EncoderType;
  writeVarLong(value: number | string | KafkaLong): EncoderType;
  writeInt32(value: number): EncoderType;
}
const Encoder = require('kafkajs/src/protocol/encoder') as {
  new (initialSize?: number): EncoderType;
  sizeOfVarInt(value: number): number;
  sizeOfVarLong(value: number | string | KafkaLong): number;
};
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => {
  offset: number;
  readVarInt(): number;
  readVarLong(): KafkaLong;
};
const Long = require('kafkajs/src/utils/long') as { fromValue(value: string): KafkaLong };
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (record: {
  offsetDelta?: number;
  timestampDelta?: number;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, string | Buffer | Array<string | Buffer>>;
}) => EncoderType;
const RecordDecoder = require('kafkajs/src/protocol/recordBatch/record/v0/decoder') as (
  decoder: InstanceType<typeof Decoder>,
  batchContext: { firstOffset: string; firstTimestamp: string },
) => {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, unknown>;
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** Kafka's varlong: zigzag over 64 bits, then 7 bits a byte, low first. */
function referenceVarLong(value: bigint): Buffer {
  let zigzag = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  const bytes: number[] = [];
  while (zigzag >= 0x80n) {
    bytes.push(Number(zigzag & 0x7fn) | 0x80);
    zigzag >>= 7n;
  }
  bytes.push(Number(zigzag));
  return Buffer.from(bytes);
}

const INT32_EDGES = [
  0,
  1,
  -1,
  63,
  -64,
  64,
  -65,
  8191,
  -8192,
  8192,
  -8193,
  2 ** 20,
  -(2 ** 20),
  2 ** 27 - 1,
  -(2 ** 27),
  2 ** 27,
  2 ** 28,
  -(2 ** 28) - 1,
  2 ** 30,
  -(2 ** 30),
  2 ** 31 - 1,
  -(2 ** 31),
];
/** Deterministic spread over the 32-bit range. */
const INT32_SPREAD = Array.from({ length: 2_000 }, (_, i) => Math.imul(i + 1, 0x9e3779b1) >> (i % 31));
const BEYOND_INT32 = [
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 40 + 3,
  -(2 ** 45),
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
];

describe("kafkajs' varints", () => {
  it('writes every 32-bit number as a varint and as a varlong in the bytes Kafka defines', () => {
    for (const value of [...INT32_EDGES, ...INT32_SPREAD]) {
      const expected = referenceVarLong(BigInt(value));
      expect(new Encoder().writeVarInt(value).buffer).toEqual(expected);
      expect(new Encoder().writeVarLong(value).buffer).toEqual(expected);
      expect(Encoder.sizeOfVarInt(value)).toBe(expected.length);
      expect(Encoder.sizeOfVarLong(value)).toBe(expected.length);
    }
  });

  it('writes larger numbers, strings and 64-bit longs as varlongs in the bytes Kafka defines', () => {
    const values: Array<number | string | KafkaLong> = [
      ...BEYOND_INT32,
      '-9223372036854775808',
      '9223372036854775807',
      Long.fromValue('123456789012345'),
      Long.fromValue('-5'),
      '42',
    ];
    for (const value of values) {
      const big = typeof value === 'object' ? value.value : BigInt(value);
      const expected = referenceVarLong(big);
      expect(new Encoder().writeVarLong(value).buffer).toEqual(expected);
      expect(Encoder.sizeOfVarLong(value)).toBe(expected.length);
    }
  });

  it('keeps writing after a varint that crosses the end of the initial buffer', () => {
    // An encoder of 2 bytes (rounded up to 4): the fifth byte of the varint must grow it.
    const encoder = new Encoder(2)
      .writeInt32(7)
      .writeVarInt(-(2 ** 31))
      .writeInt32(9);
    expect(encoder.buffer).toEqual(
      Buffer.concat([Buffer.from([0, 0, 0, 7]), referenceVarLong(-(2n ** 31n)), Buffer.from([0, 0, 0, 9])]),
    );
  });

  it('reads back every varlong it wrote, and only its bytes', () => {
    const all = [
      ...[...INT32_EDGES, ...INT32_SPREAD, ...BEYOND_INT32].map((value) => BigInt(value)),
      -(2n ** 63n),
      2n ** 63n - 1n,
    ];
    const trailer = Buffer.from([0x2a]);
    for (const value of all) {
      const decoder = new Decoder(Buffer.concat([referenceVarLong(value), trailer]));
      expect(decoder.readVarLong().value).toBe(value);
      expect(decoder.offset).toBe(referenceVarLong(value).length);
    }
  });
});

describe("kafkajs' record encoding", () => {
  it('encodes records that decode to what was given, with the length prefix they have', () => {
    const cases: Array<Parameters<typeof Record>[0]> = [
      { key: null, value: null },
      { key: 'endpoint-1', value: Buffer.alloc(0) },
      { key: Buffer.from('k'), value: Buffer.from('x'.repeat(600)), headers: { 'hs-attempt': '2' } },
      {
        key: 'é😀',
        value: 'y'.repeat(70_000),
        headers: { a: ['1', Buffer.from('two')], 'hs-last-error': 'z'.repeat(500) },
        offsetDelta: 300,
        timestampDelta: 2 ** 31 + 5,
      },
      { key: 'negative', value: 'v', timestampDelta: -1_500, offsetDelta: 0 },
    ];
    for (const given of cases) {
      const bytes = Record(given).buffer;
      const decoder = new Decoder(bytes);
      const length = decoder.readVarInt();
      expect(decoder.offset + length).toBe(bytes.length);
      const decoded = RecordDecoder(decoder, { firstOffset: '1000', firstTimestamp: '1764000000000' });
      expect(decoded.offset).toBe(String(1000 + (given.offsetDelta ?? 0)));
      expect(decoded.timestamp).toBe(String(1764000000000 + (given.timestampDelta ?? 0)));
      expect(decoded.key).toEqual(given.key === null ? null : Buffer.from(given.key));
      expect(decoded.value).toEqual(given.value === null ? null : Buffer.from(given.value));
      const headers = Object.fromEntries(
        Object.entries(given.headers ?? {}).map(([name, value]) => [
          name,
          Array.isArray(value) ? value.map((v) => Buffer.from(v)) : Buffer.from(value),
        ]),
      );
      expect(decoded.headers).toEqual(headers);
    }
  });
});
