/**
 * The Engine API streams progress (build, pull) and events as JSON objects, one a line, split across
 * chunks at arbitrary points. dockerode's followProgress neither reports the errors embedded in the
 * stream nor fits an endless event stream, hence this small reader.
 */
export function followJsonLines(
  stream: NodeJS.ReadableStream,
  onObject: (value: Record<string, unknown>) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    let settled = false;
    const emit = (line: string): void => {
      const trimmed = line.trim();
      if (trimmed === '') return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(trimmed);
      } catch {
        return; // a torn or non-JSON line carries nothing we act on
      }
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        onObject(parsed as Record<string, unknown>);
      }
    };
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      if (buffer !== '') emit(buffer);
      buffer = '';
      if (error) reject(error);
      else resolve();
    };
    stream.on('data', (chunk: Buffer | string) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        emit(line);
      }
    });
    stream.on('error', (error: Error) => finish(error));
    stream.on('end', () => finish());
    stream.on('close', () => finish());
  });
}

/** The error text a build or pull stream reports in-band, if the object is one. */
export function streamError(value: Record<string, unknown>): string | undefined {
  if (typeof value.error === 'string') return value.error;
  const detail = value.errorDetail;
  if (detail !== null && typeof detail === 'object' && 'message' in detail && typeof detail.message === 'string') {
    return detail.message;
  }
  return undefined;
}
