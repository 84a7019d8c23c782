// Every refusal raises the SDK error class it would raise against OpenAI, for a model of each provider.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  APIError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from 'openai';

import { MODELS, MODELS_TOKEN, client, freshFakesForEachCase, received, script, user } from '../harness.mjs';

freshFakesForEachCase();
const sdk = client();

/** A parameter each provider's API cannot honour (through the router, OpenAI honours every one it knows). */
const UNSUPPORTED = {
  openai: { modalities: ['text', 'audio'] },
  anthropic: { seed: 7 },
  gemini: { logit_bias: { 1: 5 } },
};

/** Asserts that ``promise`` rejects with an error of ``kind`` and returns that error. */
async function refusal(promise, kind) {
  let caught;
  await assert.rejects(promise, (error) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof kind, `expected ${kind.name}, got ${caught?.constructor?.name}: ${caught?.message}`);
  return caught;
}

for (const { api, model } of MODELS) {
  test(`${model}: an invalid value is a BadRequestError naming the parameter`, async () => {
    const error = await refusal(
      sdk.chat.completions.create({ model, messages: [user('Hi')], temperature: 5 }),
      BadRequestError,
    );
    assert.equal(error.status, 400);
    assert.equal(error.param, 'temperature');
    assert.equal(error.type, 'invalid_request_error');
    assert.deepEqual((await received(api)).requests, []);
  });

  test(`${model}: a parameter the provider cannot honour is a BadRequestError`, async () => {
    const [param] = Object.keys(UNSUPPORTED[api]);
    const error = await refusal(
      sdk.chat.completions.create({ model, messages: [user('Hi')], ...UNSUPPORTED[api] }),
      BadRequestError,
    );
    assert.equal(error.code, 'unsupported_parameter');
    assert.equal(error.param, param);
    assert.ok(error.message.includes(param), error.message);
    assert.deepEqual((await received(api)).requests, []);
  });

  test(`${model}: the provider's own refusal keeps its reason, its key redacted`, async () => {
    await script(api, 'refused');
    const error = await refusal(sdk.chat.completions.create({ model, messages: [user('A long prompt')] }), BadRequestError);
    assert.match(error.message, /token/);
    assert.match(error.message, /\[REDACTED\]/);
    assert.doesNotMatch(error.message, /sk-test-provider-key/);
    if (api === 'openai') {
      assert.equal(error.code, 'context_length_exceeded');
    }
    assert.equal((await received(api)).requests.length, 1, 'a refused request is not retried');
  });

  test(`${model}: a refusal before a stream starts is raised by create()`, async () => {
    await script(api, 'refused');
    await refusal(sdk.chat.completions.create({ model, stream: true, messages: [user('A long prompt')] }), BadRequestError);
  });

  test(`${model}: the provider's rate limit is a RateLimitError`, async () => {
    await script(api, '429');
    const error = await refusal(sdk.chat.completions.create({ model, messages: [user('Hi')] }), RateLimitError);
    assert.equal(error.status, 429);
  });

  test(`${model}: the provider's outage is an InternalServerError the SDK is told not to retry`, async () => {
    await script(api, '503');
    const error = await refusal(sdk.chat.completions.create({ model, messages: [user('Hi')] }), InternalServerError);
    assert.equal(error.headers.get('x-should-retry'), 'false');
    assert.equal(error.type, 'server_error');
  });

  test(`${model}: a stream cut mid-answer raises an APIError in the loop`, async () => {
    await script(api, 'cut');
    const stream = await sdk.chat.completions.create({ model, stream: true, messages: [user('Say hello')] });
    let text = '';
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) {
          text += chunk.choices[0].delta.content ?? '';
        }
      })(),
      APIError,
    );
    assert.equal(text, 'Hello from');
  });
}

test("with the SDK's default retries, a router's error costs one upstream call", async () => {
  const retrying = client({ maxRetries: 2 });
  for (const [scenario, kind] of [
    ['503', InternalServerError],
    ['429', RateLimitError],
  ]) {
    await script('anthropic', scenario); // a retry by the SDK would be answered, and the case would fail
    await refusal(retrying.chat.completions.create({ model: 'claude-3-5-sonnet', messages: [user('Hi')] }), kind);
  }
  assert.equal((await received('anthropic')).requests.length, 2, 'the SDK retried what the router had tried');
});

test('exhausted OpenAI quota is a RateLimitError of type insufficient_quota', async () => {
  await script('openai', 'quota');
  const error = await refusal(sdk.chat.completions.create({ model: 'gpt-4o', messages: [user('Hi')] }), RateLimitError);
  assert.equal(error.type, 'insufficient_quota');
});

test('an unknown model is a NotFoundError', async () => {
  const error = await refusal(sdk.chat.completions.create({ model: 'gpt-99', messages: [user('Hi')] }), NotFoundError);
  assert.equal(error.code, 'model_not_found');
});

test('a wrong key is an AuthenticationError', async () => {
  const stranger = client({ apiKey: 'not-a-token' });
  const error = await refusal(
    stranger.chat.completions.create({ model: 'gpt-4o', messages: [user('Hi')] }),
    AuthenticationError,
  );
  assert.equal(error.type, 'authentication_error');
});

test('a caller without the right to chat is a PermissionDeniedError', async () => {
  const other = client({ apiKey: MODELS_TOKEN });
  await refusal(other.chat.completions.create({ model: 'gpt-4o', messages: [user('Hi')] }), PermissionDeniedError);
});

test('models are listed and found by id, and an unknown one is a NotFoundError', async () => {
  const models = client({ apiKey: MODELS_TOKEN });
  const listed = new Map();
  for await (const model of models.models.list()) {
    listed.set(model.id, model);
  }
  for (const { model } of MODELS) {
    assert.ok(listed.has(model), `${model} is not listed`);
  }
  const found = await models.models.retrieve('claude-sonnet-4-5');
  assert.deepEqual([found.id, found.object, found.owned_by], ['claude-sonnet-4-5', 'model', 'anthropic']);
  assert.equal(found.created, listed.get('claude-sonnet-4-5').created);
  const error = await refusal(models.models.retrieve('gpt-99'), NotFoundError);
  assert.equal(error.param, 'model');
});
