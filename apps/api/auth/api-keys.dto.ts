import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export class CreateApiKeyDto {
  /** A label for listings ("CI", "sync service"); omitted: none. */
  @ApiPropertyOptional({ maxLength: 100, example: 'sync service' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  @Matches(/\S/, { message: 'name must not be blank' })
  name?: string;
}
