import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { isRole, type Role } from '../auth/permissions.js';

export interface Membership {
  orgId: string;
  role: Role;
  orgApiVersion: string;
}

@Injectable()
export class MembershipsService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** The user's role in the org with the org's pinned API version; null if not a member (or no such org). */
  async find(orgId: string, userId: string): Promise<Membership | null> {
    const rows: Array<{ role: string; api_version: string }> = await this.db.query(
      `SELECT m.role, o.api_version FROM members m JOIN organizations o ON o.id = m.org_id
        WHERE m.org_id = $1 AND m.user_id = $2`,
      [orgId, userId],
    );
    const row = rows[0];
    return row && isRole(row.role) ? { orgId, role: row.role, orgApiVersion: row.api_version } : null;
  }
}
