// Where the console's people pages live, built from ADMIN_CONSOLE_PREFIX: the pages link to each other through
// these, and the instances pages link to an instance's access page through instanceAccessPath.
import { ADMIN_CONSOLE_PREFIX } from './page.js';

export const USERS_PATH = `${ADMIN_CONSOLE_PREFIX}/users`;

export const INSTANCES_PATH = `${ADMIN_CONSOLE_PREFIX}/instances`;

/** The register form filled for the example instance (first run's "Register an example instance"). */
export const EXAMPLE_INSTANCE_FORM_PATH = `${INSTANCES_PATH}/new?example=chillfi3`;

export function userPath(accountId: string): string {
  return `${USERS_PATH}/${encodeURIComponent(accountId)}`;
}

export function instancePath(instanceId: string): string {
  return `${INSTANCES_PATH}/${encodeURIComponent(instanceId)}`;
}

/** An instance's members (src/web/admin-access.ts). */
export function instanceAccessPath(instanceId: string): string {
  return `${instancePath(instanceId)}/access`;
}

/** One account's access to an instance: its change form posts here. */
export function memberPath(instanceId: string, accountId: string): string {
  return `${instanceAccessPath(instanceId)}/${encodeURIComponent(accountId)}`;
}
