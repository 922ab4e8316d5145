import { describe, expect, it } from 'vitest';
import { API_KEY_PERMISSIONS, defaultKeyScopes, effectiveKeyPermissions, isPermission, isRole, PERMISSIONS, ROLE_PERMISSIONS, ROLES } from './permissions.js';

const READ = ['agents:read', 'runs:read', 'end-users:read', 'models:read'];
const WRITE = ['agents:write', 'agents:run', 'runs:cancel', 'end-users:write'];
const MANAGE = ['models:write', 'api-keys:manage', 'members:manage', 'org:manage'];

describe('permissions (API.md section 2 table)', () => {
  it('gives each role exactly its column', () => {
    expect([...ROLE_PERMISSIONS.owner].sort()).toEqual([...READ, ...WRITE, ...MANAGE].sort());
    expect([...ROLE_PERMISSIONS.admin].sort()).toEqual([...READ, ...WRITE, ...MANAGE].sort());
    expect([...ROLE_PERMISSIONS.member].sort()).toEqual([...READ, ...WRITE].sort());
    expect([...ROLE_PERMISSIONS.viewer].sort()).toEqual([...READ].sort());
  });

  it('never lets a key hold a management permission', () => {
    expect([...API_KEY_PERMISSIONS].sort()).toEqual([...READ, ...WRITE].sort());
    for (const p of MANAGE) expect(API_KEY_PERMISSIONS.has(p as never)).toBe(false);
  });

  it('defaults a key to what its creator may give it', () => {
    expect(defaultKeyScopes('owner').sort()).toEqual([...READ, ...WRITE].sort());
    expect(defaultKeyScopes('admin').sort()).toEqual([...READ, ...WRITE].sort());
    expect(defaultKeyScopes('member').sort()).toEqual([...READ, ...WRITE].sort());
    expect(defaultKeyScopes('viewer').sort()).toEqual([...READ].sort());
  });

  it('intersects a key’s scopes with the creator’s current role', () => {
    const scopes = ['agents:run', 'runs:read', 'end-users:write'];
    expect([...effectiveKeyPermissions(scopes, 'admin')].sort()).toEqual(['agents:run', 'end-users:write', 'runs:read']);
    expect([...effectiveKeyPermissions(scopes, 'viewer')]).toEqual(['runs:read']);
  });

  it('drops unknown and management scopes even if stored', () => {
    expect([...effectiveKeyPermissions(['org:manage', 'bogus', 'models:read'], 'owner')]).toEqual(['models:read']);
    expect(effectiveKeyPermissions([], 'owner').size).toBe(0);
  });

  it('recognizes roles and permissions strictly', () => {
    for (const r of ROLES) expect(isRole(r)).toBe(true);
    for (const p of PERMISSIONS) expect(isPermission(p)).toBe(true);
    for (const bad of ['Owner', 'root', '', null, 1, 'agents:READ', 'agents']) {
      expect(isRole(bad)).toBe(false);
      expect(isPermission(bad)).toBe(false);
    }
  });
});
