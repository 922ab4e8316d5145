import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { EndUser } from './end-user.entity.js';

@Injectable()
export class EndUsersService {
  constructor(@InjectRepository(EndUser) private readonly endUsers: Repository<EndUser>) {}

  /** Whether `id` is an end-user of `orgId` (another org's end-user is simply not found). */
  async existsInOrg(orgId: string, id: string): Promise<boolean> {
    return this.endUsers.exists({ where: { orgId, id } });
  }
}
