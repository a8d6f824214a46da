import { Body, Controller, Delete, Get, Post } from '@nestjs/common';
import { badRequest } from '../common/sandbox-error';
import { CreateFaultDto } from './faults.dto';
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
}
