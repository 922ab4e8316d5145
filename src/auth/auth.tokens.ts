import { Inject } from '@nestjs/common';

export const BETTER_AUTH = Symbol('BETTER_AUTH');
export const InjectBetterAuth = () => Inject(BETTER_AUTH);
