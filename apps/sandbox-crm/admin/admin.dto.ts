import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsEmail,
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
