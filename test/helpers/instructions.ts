/** Helpers shared by the instruction suites: parse one instruction, expect a kind, catch a DockerfileError. */
import { expect } from 'vitest';
import { DockerfileError } from '../../core/errors.js';
import type { SourceRange } from '../../core/errors.js';
import { parseInstruction } from '../../frontend/instructions/index.js';
import type { Instruction, InstructionKind } from '../../frontend/instructions/index.js';
import { parseDockerfile } from '../../parser/index.js';

export const FILE = 'Dockerfile';

/** The first instruction of `source`, typed. */
export function first(source: string): Instruction {
  const result = parseDockerfile(source, { file: FILE });
  const node = result.instructions[0];
  if (!node) throw new Error('no instruction');
  return parseInstruction(node, { file: FILE, source, escapeToken: result.escapeToken });
}

/** The first instruction, which must be of `kind`. */
export function as<K extends InstructionKind>(kind: K, source: string): Extract<Instruction, { kind: K }> {
  const instruction = first(source);
  expect(instruction.kind).toBe(kind);
  return instruction as Extract<Instruction, { kind: K }>;
}

/** The DockerfileError `run` throws; fails the test when it throws nothing or something else. */
export function failure(run: () => unknown): DockerfileError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DockerfileError);
    return error as DockerfileError;
  }
  throw new Error('expected a DockerfileError');
}

export const firstError = (source: string): DockerfileError => failure(() => first(source));

export function at(line: number, column: number, endLine: number, endColumn: number): SourceRange {
  return { start: { line, column }, end: { line: endLine, column: endColumn } };
}
