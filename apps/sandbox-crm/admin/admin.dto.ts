import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsEmail,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { MAX_RECORDS_PER_ENTITY } from '../accounts/account-provisioner';
import { DATA_CENTER_REGIONS, DataCenterRegion } from '../accounts/crm-model';

const REGION_MESSAGE = `region must be one of ${DATA_CENTER_REGIONS.join(', ')}`;

export class RecordCountsDto {
  @IsOptional() @IsInt() @Min(0) @Max(MAX_RECORDS_PER_ENTITY)
  contacts?: number;

  @IsOptional() @IsInt() @Min(0) @Max(MAX_RECORDS_PER_ENTITY)
  companies?: number;

  @IsOptional() @IsInt() @Min(0) @Max(MAX_RECORDS_PER_ENTITY)
  deals?: number;
}

export class CreateAccountDto {
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(200)
  name?: string;

  /** Records to seed per entity type; omitted entity types get the default count. */
  @IsOptional() @IsObject() @ValidateNested() @Type(() => RecordCountsDto)
  records?: RecordCountsDto;

  /** Zoho data center serving the account (default `us`); only the Zoho shape cares. */
  @IsOptional() @IsIn(DATA_CENTER_REGIONS, { message: REGION_MESSAGE })
  region?: DataCenterRegion;
}

export class UpdateAccountDto {
  /** Simulates a data-center move: the account's Zoho tokens stop working until re-authorized. */
  @IsOptional() @IsIn(DATA_CENTER_REGIONS, { message: REGION_MESSAGE })
  region?: DataCenterRegion;
}

export class CreateUserDto {
  @IsOptional() @IsEmail()
  email?: string;

  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(200)
  name?: string;
}

export class IssueTokenDto {
  @IsString() @IsNotEmpty()
  accountId: string;

  /** Defaults to the account's first active user. */
  @IsOptional() @IsString() @IsNotEmpty()
  userId?: string;

  @IsOptional() @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) @IsNotEmpty({ each: true })
  scopes?: string[];
}
