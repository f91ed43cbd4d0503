import 'reflect-metadata';
import { BadRequestException } from '@nestjs/common';
import { IsString } from 'class-validator';
import { BodyValidationPipe } from './body-validation.pipe';
import { RawJsonField } from './raw-json';
import { byRule, IsPresent, OptionalNotNull } from './validation';

class EventBody {
  @IsString()
  type!: string;

  @RawJsonField()
  @IsPresent('data is required (use null for no payload)')
  data!: unknown;
}

class SettingsBody {
  @RawJsonField()
  @OptionalNotNull()
  @byRule('isStringMap', (value) =>
    typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string')
      ? []
      : ['metadata must map strings to strings'],
  )
  metadata?: Record<string, string>;
}

class UpdateSettingsBody extends SettingsBody {
  @OptionalNotNull()
  @IsString()
  url?: string;
}

const pipe = new BodyValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true });
const body = (metatype: new () => object, json: string) =>
  pipe.transform(JSON.parse(json), { type: 'body', metatype });
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => 'accepted',
    (error: BadRequestException) => (error.getResponse() as { message: string[] }).message.join('; '),
  );

describe('BodyValidationPipe', () => {
  it('hands RawJson fields over exactly as parsed, prototype keys and all, and pollutes nothing', async () => {
    const json =
      '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},"toString":"no","n":[{"prototype":1}]}';
    const result = (await body(EventBody, `{"type":"a","data":${json}}`)) as EventBody;
    expect(result).toBeInstanceOf(EventBody);
    expect(JSON.stringify(result.data)).toBe(json);
    expect(Object.getPrototypeOf(result.data)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('accepts null data and refuses missing data', async () => {
    expect(((await body(EventBody, '{"type":"a","data":null}')) as EventBody).data).toBeNull();
    expect(await refusal(body(EventBody, '{"type":"a"}'))).toBe('data is required (use null for no payload)');
  });

  it('validates the raw value itself, in subclasses too, beside the other fields', async () => {
    const stored = (await body(
      UpdateSettingsBody,
      '{"metadata":{"__proto__":"p","constructor":"c"}}',
    )) as SettingsBody;
    expect(JSON.stringify(stored.metadata)).toBe('{"__proto__":"p","constructor":"c"}');
    expect(await refusal(body(UpdateSettingsBody, '{"metadata":{"__proto__":5},"url":7}'))).toBe(
      'url must be a string; metadata must map strings to strings',
    );
    expect(await refusal(body(UpdateSettingsBody, '{"metadata":null}'))).toBe(
      'metadata must map strings to strings',
    );
    expect(await refusal(body(EventBody, '{"type":"a","data":1,"extra":1}'))).toBe(
      'property extra should not exist',
    );
  });

  it('leaves bodies without RawJson fields to ValidationPipe', async () => {
    class Plain {
      @IsString()
      name!: string;
    }
    expect(await body(Plain, '{"name":"x"}')).toEqual(Object.assign(new Plain(), { name: 'x' }));
  });
});
