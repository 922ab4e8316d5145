import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import type { AppConfig } from '../config/app.config.js';
import { InjectConfig } from '../config/config.module.js';
import { isUuidString } from '../common/ids.js';
import { ModelConfig } from './model-config.entity.js';
import { ModelSecretsCipher } from './model-secrets.cipher.js';

/** The organization's model configurations. Every method takes the org id: tenancy in every query. */
@Injectable()
export class ModelsService {
  private readonly cipher: ModelSecretsCipher;

  constructor(
    @InjectRepository(ModelConfig) private readonly models: Repository<ModelConfig>,
    @InjectConfig() config: AppConfig,
  ) {
    this.cipher = new ModelSecretsCipher(config.secrets.modelKey);
  }

  /** The org's model with this id; another org's model (or a non-UUID) is simply not found. */
  async findById(orgId: string, id: string): Promise<ModelConfig | null> {
    if (!isUuidString(id)) return null;
    return this.models.findOne({ where: { orgId, id: id.toLowerCase() } });
  }

  async findByName(orgId: string, name: string): Promise<ModelConfig | null> {
    return this.models.findOne({ where: { orgId, name } });
  }

  async findDefault(orgId: string): Promise<ModelConfig | null> {
    return this.models.findOne({ where: { orgId, isDefault: true } });
  }

  /** The provider API key in clear, for the model client only; never put it in a response or log. */
  decryptApiKey(model: ModelConfig): string {
    return this.cipher.decrypt(model.apiKeyEncrypted);
  }
}
