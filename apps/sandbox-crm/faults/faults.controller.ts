import { Body, Controller, Delete, Get, Post, Put } from '@nestjs/common';
import { badRequest } from '../common/sandbox-error';
import { CreateFaultDto, RandomFaultsDto } from './faults.dto';
import { FaultsService } from './faults.service';

/** Admin endpoints to arm, inspect and clear injected faults. */
@Controller('admin/faults')
export class FaultsController {
  constructor(private readonly faults: FaultsService) {}

  @Post()
  create(@Body() body: CreateFaultDto) {
    if (body.status === undefined && !body.delayMs) {
      throw badRequest('invalid_request', 'A fault needs a status, a delayMs, or both');
    }
    const fault = this.faults.add({
      pathPrefix: body.pathPrefix,
      status: body.status ?? null,
      count: body.count ?? 1,
      retryAfterSeconds: body.retryAfterSeconds ?? null,
      delayMs: body.delayMs ?? 0,
    });
    return { id: fault.id };
  }

  @Get()
  list() {
    return { faults: this.faults.list() };
  }

  @Delete()
  clear() {
    return { cleared: this.faults.clear() };
  }

  /** Random faults from a seeded generator, on top of (after) the armed ones; replaces an earlier profile. */
  @Put('random')
  setRandom(@Body() body: RandomFaultsDto) {
    const rates = (body.serverErrorRate ?? 0) + (body.tooManyRequestsRate ?? 0) + (body.latencyRate ?? 0);
    if (rates > 1) throw badRequest('invalid_request', 'serverErrorRate + tooManyRequestsRate + latencyRate must not exceed 1');
    this.faults.setRandom({
      seed: body.seed,
      pathPrefixes: body.pathPrefixes,
      serverErrorRate: body.serverErrorRate ?? 0,
      tooManyRequestsRate: body.tooManyRequestsRate ?? 0,
      retryAfterSeconds: body.retryAfterSeconds ?? 1,
      latencyRate: body.latencyRate ?? 0,
      maxLatencyMs: body.maxLatencyMs ?? 0,
    });
    return this.faults.getRandom();
  }

  /** The random profile and how many faults of each kind it has served. */
  @Get('random')
  getRandom() {
    return this.faults.getRandom();
  }

  @Delete('random')
  clearRandom() {
    return { injected: this.faults.clearRandom() };
  }
}
