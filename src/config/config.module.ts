import { Global, Module } from '@nestjs/common';
import { deriveTaskKeys, TaskSeal } from '../domain/task-seal';
import { loadConfig, type AppConfig } from './config';

export const APP_CONFIG = Symbol('APP_CONFIG');

/** The delivery task MAC (src/domain/task-seal.ts), keyed from HOOKSTREAM_SECRET_KEY and its previous keys. */
export function taskSealFor(config: AppConfig): TaskSeal {
  return new TaskSeal(deriveTaskKeys(config.security.secretKeys), config.security.acceptUnsealedTasks);
}

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig = loadConfig()) {
    return {
      module: ConfigModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: TaskSeal, useValue: taskSealFor(config) },
      ],
      exports: [APP_CONFIG, TaskSeal],
    };
  }
}
