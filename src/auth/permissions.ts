/** Member roles, most powerful first. */
export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'agents:read',
  'runs:read',
  'end-users:read',
  'models:read',
  'agents:write',
  'agents:run',
  'runs:cancel',
  'end-users:write',
  'models:write',
  'api-keys:manage',
  'members:manage',
  'org:manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const READ: Permission[] = ['agents:read', 'runs:read', 'end-users:read', 'models:read'];
const WRITE: Permission[] = ['agents:write', 'agents:run', 'runs:cancel', 'end-users:write'];
const MANAGE: Permission[] = ['models:write', 'api-keys:manage', 'members:manage', 'org:manage'];

/** API.md section 2, the permission table. */
export const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  owner: new Set([...READ, ...WRITE, ...MANAGE]),
  admin: new Set([...READ, ...WRITE, ...MANAGE]),
  member: new Set([...READ, ...WRITE]),
  viewer: new Set(READ),
};

/** The permissions an API key may ever hold; management stays with people. */
export const API_KEY_PERMISSIONS: ReadonlySet<Permission> = new Set([...READ, ...WRITE]);

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);
export const isPermission = (value: unknown): value is Permission =>
  typeof value === 'string' && (PERMISSIONS as readonly string[]).includes(value);

/** The default scopes of a new key: every key-holdable permission its creator has. */
export function defaultKeyScopes(creatorRole: Role): Permission[] {
  return PERMISSIONS.filter((p) => API_KEY_PERMISSIONS.has(p) && ROLE_PERMISSIONS[creatorRole].has(p));
}

/**
 * A key's effective permissions: its scopes intersected with its creator's *current* role,
 * so demoting the creator shrinks the key at once.
 */
export function effectiveKeyPermissions(scopes: readonly string[], creatorRole: Role): Set<Permission> {
  const role = ROLE_PERMISSIONS[creatorRole];
  return new Set(scopes.filter((s): s is Permission => isPermission(s) && API_KEY_PERMISSIONS.has(s) && role.has(s)));
}
