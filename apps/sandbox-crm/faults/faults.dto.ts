import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

export class CreateFaultDto {
  @IsString()
  @Matches(/^\/(?!admin(\/|$))/, { message: 'pathPrefix must start with "/" and must not target /admin' })
  pathPrefix: string;

  /** Only error statuses make sense as faults; a "success" fault would be indistinguishable from normal service. */
  @IsOptional()
  @IsInt()
  @Min(400)
  @Max(599)
  status?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  count?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(86_400)
  retryAfterSeconds?: number;

  /** Capped so a forgotten fault can't stall a test run for long. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(60_000)
  delayMs?: number;
}
