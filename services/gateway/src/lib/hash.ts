import { hash } from 'node:crypto';

/** Hex SHA-256 of a command's text or bytes (Command.textSha256). One-shot: no Hash object per command. */
export const sha256Hex = (s: string | Buffer): string => hash('sha256', s, 'hex');
