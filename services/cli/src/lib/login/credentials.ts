import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What `chaperone login` keeps: where the API is, the provider, and the tokens (never logged). */
export interface StoredLogin {
  api: string;
  issuer: string;
  clientId: string;
  tokenEndpoint: string;
  idToken: string;
  refreshToken: string | undefined;
  /** ms since the epoch, from the ID token's exp. */
  expiresAt: number;
}

/** $XDG_CONFIG_HOME/chaperone (else ~/.config/chaperone): the user's own folder, 0700. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'chaperone');
}

const file = (env?: NodeJS.ProcessEnv) => join(configDir(env), 'credentials.json');

export async function readLogin(env?: NodeJS.ProcessEnv): Promise<StoredLogin | undefined> {
  try {
    return JSON.parse(await readFile(file(env), 'utf8')) as StoredLogin;
  } catch {
    return undefined;
  }
}

/** Writes the credentials readable by the user only (0600 in a 0700 folder). */
export async function writeLogin(login: StoredLogin, env?: NodeJS.ProcessEnv): Promise<string> {
  const dir = configDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  await writeFile(file(env), `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  await chmod(file(env), 0o600);
  return file(env);
}

export async function removeLogin(env?: NodeJS.ProcessEnv): Promise<boolean> {
  const had = (await readLogin(env)) !== undefined;
  await rm(file(env), { force: true });
  return had;
}
