/**
 * Container names as docker has them: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, unique across the root, and a
 * generated `adjective_noun` (docker's namesgenerator style, our own word lists) when none is given.
 */
import { randomInt } from 'node:crypto';
import { InvalidArgumentError } from '../core/index.js';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Throws InvalidArgumentError naming `--name` when `name` is not a valid container name. */
export function checkContainerName(name: string): void {
  if (!NAME.test(name) || name.length > 255)
    throw new InvalidArgumentError(`invalid container name (--name) ${JSON.stringify(name)}`, {
      hint: 'a name is [a-zA-Z0-9][a-zA-Z0-9_.-]+',
    });
}

const ADJECTIVES = [
  'able', 'agile', 'amber', 'ample', 'blithe', 'bold', 'brave', 'bright', 'brisk', 'calm', 'candid',
  'cheery', 'clever', 'cosmic', 'crisp', 'curious', 'dapper', 'daring', 'deft', 'eager', 'earnest',
  'elated', 'fervent', 'festive', 'fond', 'frank', 'gentle', 'gifted', 'glad', 'golden', 'happy',
  'hardy', 'hearty', 'humble', 'jolly', 'jovial', 'keen', 'kind', 'lively', 'loyal', 'lucid', 'merry',
  'mellow', 'modest', 'nimble', 'noble', 'placid', 'plucky', 'polite', 'proud', 'quick', 'quiet',
  'rapid', 'ready', 'serene', 'sharp', 'shiny', 'snappy', 'steady', 'sturdy', 'sunny', 'swift',
  'tender', 'tidy', 'upbeat', 'vivid', 'warm', 'wise', 'witty', 'zealous',
];

const NOUNS = [
  'acorn', 'anchor', 'badger', 'beacon', 'birch', 'bison', 'brook', 'canyon', 'cedar', 'comet',
  'condor', 'coral', 'crane', 'delta', 'dune', 'ember', 'falcon', 'fern', 'fjord', 'forge', 'gecko',
  'glacier', 'harbor', 'hazel', 'heron', 'island', 'jasper', 'kestrel', 'lagoon', 'lantern', 'lark',
  'lotus', 'lynx', 'maple', 'meadow', 'mesa', 'nebula', 'oasis', 'orchid', 'osprey', 'otter',
  'pebble', 'pine', 'plover', 'prairie', 'quartz', 'raven', 'reef', 'ridge', 'river', 'robin',
  'sable', 'sequoia', 'sparrow', 'spruce', 'summit', 'tern', 'thicket', 'tundra', 'valley', 'walrus',
  'willow', 'wren', 'yarrow', 'zephyr',
];

/** A fresh `adjective_noun`; after a clash the caller asks again with `attempt` > 0 (a digit is added). */
export function generateName(attempt = 0): string {
  const adjective = ADJECTIVES[randomInt(ADJECTIVES.length)] ?? 'able';
  const noun = NOUNS[randomInt(NOUNS.length)] ?? 'acorn';
  return attempt === 0 ? `${adjective}_${noun}` : `${adjective}_${noun}${randomInt(10)}`;
}
