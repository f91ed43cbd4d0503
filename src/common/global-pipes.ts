import type { PipeTransform } from '@nestjs/common';
import { BodyValidationPipe } from './body-validation.pipe';
import { DepthLimitPipe } from './depth-limit.pipe';

/** The pipes every request body goes through, in order (src/app.ts; the bench's adapter app too). */
export function globalPipes(): PipeTransform[] {
  return [
    // First: the ValidationPipe recurses into the body and must never see a hostile nesting.
    new DepthLimitPipe(),
    new BodyValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      stopAtFirstError: false,
    }),
  ];
}
