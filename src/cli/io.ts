/**
 * Where a workbench command reads and writes: the terminal in the real CLI, buffers in tests, so every
 * command runs in-process with its output captured.
 */
import { readFileSync } from 'node:fs';

export interface CommandIo {
  /** Standard output: the command's result (JSON or a report). */
  out(text: string): void;
  /** Standard error: progress and problems. */
  err(text: string): void;
  /** Reads a file, or standard input for `-`. */
  read(file: string): Promise<string>;
  env: Record<string, string | undefined>;
  /** Resolves when everything written has been handed to the terminal (the CLI exits right after). */
  flush?(): Promise<void>;
}

/** The process's own terminal. */
export const processIo: CommandIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  read: async (file) => (file === '-' ? readStdin() : readFileSync(file, 'utf8')),
  env: process.env,
  // Writes to a pipe are asynchronous: a large report would be cut short by process.exit otherwise.
  flush: () => new Promise((resolve) => process.stdout.write('', () => process.stderr.write('', () => resolve()))),
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** An in-memory io for tests: what was written, and files given as text. */
export function memoryIo(files: Record<string, string> = {}, env: Record<string, string | undefined> = {}): CommandIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (text) => {
      out += text.endsWith('\n') ? text : `${text}\n`;
    },
    err: (text) => {
      err += text.endsWith('\n') ? text : `${text}\n`;
    },
    read: async (file) => {
      if (file in files) {
        return files[file];
      }
      return readFileSync(file, 'utf8');
    },
    env,
    stdout: () => out,
    stderr: () => err,
  };
}
