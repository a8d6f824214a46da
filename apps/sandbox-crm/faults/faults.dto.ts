import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsNumber, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

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

export class RandomFaultsDto {
  @IsInt()
  @Min(0)
  @Max(2 ** 32 - 1)
  seed: number;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @Matches(/^\/(?!admin(\/|$))/, { each: true, message: 'each path prefix must start with "/" and must not target /admin' })
  pathPrefixes: string[];

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  serverErrorRate?: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  tooManyRequestsRate?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(3600)
  retryAfterSeconds?: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  latencyRate?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(60_000)
  maxLatencyMs?: number;
}
