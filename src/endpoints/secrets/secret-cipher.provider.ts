import type { Provider } from '@nestjs/common';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { SecretCipher } from './secret-cipher';

/** SecretCipher from HOOKSTREAM_SECRET_KEY (encrypts) and HOOKSTREAM_SECRET_KEY_PREVIOUS (decrypt only). */
export const secretCipherProvider: Provider = {
  provide: SecretCipher,
  inject: [APP_CONFIG],
  useFactory: (config: AppConfig) => new SecretCipher(config.security.secretKeys),
};
