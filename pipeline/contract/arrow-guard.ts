/**
 * Arrow IPC as it comes off the wire, checked before `apache-arrow` builds anything from it.
 *
 * The library trusts the lengths a message declares: a flipped byte in a flatbuffer vector
 * length, or a dictionary batch claiming twelve million rows in a 300-byte body, makes it
 * allocate until the process runs out of heap — an error no try/catch sees. So:
 *
 * - every flatbuffer vector must fit in the buffer that holds it (checked inside the
 *   flatbuffers reader itself, below: a vector of n elements needs at least n bytes);
 * - every record and dictionary batch, and every column node in it, holds at most the batch
 *   limit of rows, null counts do not exceed lengths, buffers lie inside their body, and the
 *   rows of all record batches together stay within the limit.
 */
import { MessageHeader, MessageReader } from 'apache-arrow';
import { ByteBuffer } from 'flatbuffers';

const vectorLength = ByteBuffer.prototype.__vector_len;
ByteBuffer.prototype.__vector_len = function boundedVectorLength(
  this: ByteBuffer,
  offset: number,
): number {
  const n = vectorLength.call(this, offset);
  const start = offset + this.readInt32(offset) + 4;
  if (n < 0 || start + n > this.capacity())
    throw new RangeError(`a flatbuffer vector claims ${n} elements past the end of its buffer`);
  return n;
};

/** Upper bound on messages in one IPC stream (schema, dictionaries, record batches). */
const MAX_MESSAGES = 4096;

interface BatchMeta {
  length: number | bigint;
  nodes: { length: number | bigint; nullCount: number | bigint }[];
  buffers: { offset: number | bigint; length: number | bigint }[];
}

/** Why `data` must not reach `tableFromIPC`, or undefined when its declared sizes are sane. */
export function arrowProblem(data: Uint8Array, maxRows: number): string | undefined {
  try {
    const reader = new MessageReader(data);
    let messages = 0;
    let rows = 0;
    for (const m of reader) {
      if (++messages > MAX_MESSAGES) return `more than ${MAX_MESSAGES} IPC messages`;
      const bodyLength = Number(m.bodyLength);
      if (!(bodyLength >= 0 && bodyLength <= data.length))
        return `a message declares a body of ${bodyLength} bytes in a stream of ${data.length}`;
      let batch: BatchMeta | undefined;
      if (m.headerType === MessageHeader.RecordBatch) batch = m.header() as unknown as BatchMeta;
      else if (m.headerType === MessageHeader.DictionaryBatch)
        batch = (m.header() as unknown as { data: BatchMeta }).data;
      if (batch) {
        const problem = batchProblem(batch, bodyLength, maxRows);
        if (problem) return problem;
        if (m.headerType === MessageHeader.RecordBatch) {
          rows += Number(batch.length);
          if (rows > maxRows) return `the batches hold more than ${maxRows} rows`;
        }
      }
      if (bodyLength > 0) reader.readMessageBody(bodyLength);
    }
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function batchProblem(b: BatchMeta, bodyLength: number, maxRows: number): string | undefined {
  const rows = Number(b.length);
  if (!(rows >= 0 && rows <= maxRows)) return `a batch declares ${rows} rows (at most ${maxRows})`;
  for (const n of b.nodes) {
    const length = Number(n.length);
    const nulls = Number(n.nullCount);
    if (!(length >= 0 && length <= maxRows && nulls >= 0 && nulls <= length))
      return `a column declares ${length} values and ${nulls} nulls (at most ${maxRows} values)`;
  }
  for (const buf of b.buffers) {
    const offset = Number(buf.offset);
    const length = Number(buf.length);
    if (!(offset >= 0 && length >= 0 && offset + length <= bodyLength))
      return `a buffer [${offset}, ${offset + length}) lies outside its body of ${bodyLength} bytes`;
  }
  return undefined;
}
