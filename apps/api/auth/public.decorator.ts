import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'isPublic';
/** Routes reachable without an API key: health, OAuth callback, connect pages, docs. */
export const Public = () => SetMetadata(IS_PUBLIC, true);
