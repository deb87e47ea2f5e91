import { createInterface } from 'node:readline/promises';

/* Questions asked on the terminal: answers on stdin, prompts on stderr, secrets never echoed. */

export async function ask(question: string): Promise<string> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await prompt.question(question)).trim();
  } finally {
    prompt.close();
  }
}

/** Reads a line with echo off (raw mode): what is typed is never shown. Ctrl-C aborts. */
export function askSecret(question: string): Promise<string> {
  const stdin = process.stdin;
  // Echo goes off before the question is shown: an answer typed (or pasted) the moment it appears is never echoed.
  stdin.setRawMode(true);
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let answer = '';
    const done = (error?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(answer.trim());
    };
    const onData = (chunk: Buffer): void => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n' || char === '\u0004') return done();
        if (char === '\u0003') return done(new Error('cancelled'));
        if (char === '\u007f' || char === '\b') answer = answer.slice(0, -1);
        else answer += char;
      }
    };
    stdin.resume();
    stdin.on('data', onData);
  });
}
