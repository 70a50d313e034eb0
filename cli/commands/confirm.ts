/**
 * docker's question before a prune (`WARNING! … [y/N] `): asked on stdout, answered by one line of stdin,
 * a terminal or not (`echo y | tsbuild volume prune`); only y or yes goes on, the end of input is no.
 */
import { createInterface } from 'node:readline';

export type Confirm = (question: string) => Promise<boolean>;

export const confirm: Confirm = async (question) => {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: false });
  process.stdout.write(question);
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
};

/** docker's line when the answer was no (the command then exits 1). */
export function pruneCancelled(what: string): string {
  return `${what} prune has been cancelled\n`;
}
