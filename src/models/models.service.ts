import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { applyPage, toPage, type ListEnvelope, type PageRequest } from '../common/http/pagination.js';
import { isUuidString, newUuid } from '../common/ids.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import type { AppConfig } from '../config/app.config.js';
import { InjectConfig } from '../config/config.module.js';
import { Organization } from '../orgs/organization.entity.js';
import { ModelConfig } from './model-config.entity.js';
import { ModelSecretsCipher } from './model-secrets.cipher.js';
import { baseUrlProblem, type BaseUrlProblem } from './model-url.js';
import type { CreateModelDto, ModelDto } from './models.dto.js';

/** The API key never leaves the service: not in responses, not in logs. */
const present = (m: ModelConfig): ModelDto => ({
  id: m.id,
  name: m.name,
  baseUrl: m.baseUrl,
  model: m.model,
  isDefault: m.isDefault,
  inputPricePerMTok: m.inputPricePerMTok,
  outputPricePerMTok: m.outputPricePerMTok,
  createdAt: m.createdAt.toISOString(),
  updatedAt: m.updatedAt.toISOString(),
});

const BASE_URL_MESSAGES: Record<BaseUrlProblem, string> = {
  not_http_url: 'baseUrl must be an absolute http or https URL.',
  has_credentials: 'baseUrl must not carry a user name or password; send the key as apiKey.',
  has_query_or_fragment: 'baseUrl must not have a query string or fragment.',
  private_host: 'baseUrl points at a loopback or private-network host, which this server does not allow.',
};

/** The organization's model configurations. Every method takes the org id: tenancy in every query. */
@Injectable()
export class ModelsService {
  private readonly cipher: ModelSecretsCipher;

  constructor(
    @InjectRepository(ModelConfig) private readonly models: Repository<ModelConfig>,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    this.cipher = new ModelSecretsCipher(config.secrets.modelKey);
  }

  /**
   * Stores a model with its API key encrypted. The org row is locked for the transaction, so
   * "unset the old default, insert the new one" and the name check are atomic per org.
   */
  async create(orgId: string, dto: CreateModelDto): Promise<ModelDto> {
    const problem = await baseUrlProblem(dto.baseUrl, this.config.models.allowPrivateUrls);
    if (problem) throw ProblemException.validation([{ field: 'baseUrl', code: problem, message: BASE_URL_MESSAGES[problem] }]);
    const saved = await this.models.manager.transaction(async (tx) => {
      await tx.createQueryBuilder(Organization, 'o').select('o.id').where('o.id = :orgId', { orgId }).setLock('pessimistic_write').getOne();
      if (await tx.exists(ModelConfig, { where: { orgId, name: dto.name } })) {
        throw new ProblemException('conflict', 'A model with this name already exists in the organization.');
      }
      const isDefault = dto.isDefault ?? false;
      if (isDefault) await tx.update(ModelConfig, { orgId, isDefault: true }, { isDefault: false });
      return tx.save(
        tx.create(ModelConfig, {
          id: newUuid(),
          orgId,
          name: dto.name,
          baseUrl: dto.baseUrl.replace(/\/+$/, ''),
          apiKeyEncrypted: this.cipher.encrypt(dto.apiKey),
          model: dto.model,
          isDefault,
          inputPricePerMTok: dto.inputPricePerMTok ?? null,
          outputPricePerMTok: dto.outputPricePerMTok ?? null,
        }),
      );
    });
    return present(saved);
  }

  async list(orgId: string, page: PageRequest): Promise<ListEnvelope<ModelDto>> {
    const qb = this.models.createQueryBuilder('m').where('m.orgId = :orgId', { orgId });
    return toPage(await applyPage(qb, 'm', page, isUuidString).getMany(), page.limit, present);
  }

  async get(orgId: string, id: string): Promise<ModelDto> {
    const model = await this.findById(orgId, id);
    if (!model) throw new ProblemException('not_found', 'No such model in this organization.');
    return present(model);
  }

  /** Deleting the default leaves the organization without one (runs then use the server default, if any). */
  async delete(orgId: string, id: string): Promise<void> {
    const result = await this.models.delete({ orgId, id });
    if (!result.affected) throw new ProblemException('not_found', 'No such model in this organization.');
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
