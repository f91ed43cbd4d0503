import { Global, Module } from '@nestjs/common';
import { deriveNotificationKeys, NotificationMark } from '../domain/notification-mark';
import { deriveTaskKeys, TaskSeal } from '../domain/task-seal';
import { loadConfig, type AppConfig } from './config';

export const APP_CONFIG = Symbol('APP_CONFIG');

/** The delivery task MAC (src/domain/task-seal.ts), keyed from HOOKSTREAM_SECRET_KEY and its previous keys. */
export function taskSealFor(config: AppConfig): TaskSeal {
  return new TaskSeal(deriveTaskKeys(config.security.secretKeys), config.security.acceptUnsealedTasks);
}

/** The notification MAC (src/domain/notification-mark.ts), keyed like the task seal under a label of its own. */
export function notificationMarkFor(config: AppConfig): NotificationMark {
  return new NotificationMark(
    deriveNotificationKeys(config.security.secretKeys),
    config.security.acceptUnmarkedNotifications,
  );
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
        { provide: NotificationMark, useValue: notificationMarkFor(config) },
      ],
      exports: [APP_CONFIG, TaskSeal, NotificationMark],
    };
  }
}
