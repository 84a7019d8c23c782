// What every conformance case shares: an SDK client on the router under test, and the control API of the
// pytest harness that runs the router on the wire fakes (scripts the fakes, shows what they were sent and
// what the router metered). The pytest test passes both addresses in the environment.
import assert from 'node:assert/strict';
import { beforeEach } from 'node:test';

import OpenAI from 'openai';

const ROUTER_URL = required('ROUTER_URL');
const HARNESS_URL = required('HARNESS_URL');
const CALL_HEADERS = JSON.parse(required('ROUTER_HEADERS'));

export const ROUTER_TOKEN = required('ROUTER_TOKEN');
export const MODELS_TOKEN = required('ROUTER_MODELS_TOKEN');

/** One model of each provider, under the name the fakes' APIs serve it. */
export const MODELS = [
  { api: 'openai', model: 'gpt-4o' },
  { api: 'anthropic', model: 'claude-3-5-sonnet' },
  { api: 'gemini', model: 'gemini-1.5-pro' },
];
export const ANSWER = 'Hello from the fake provider.';
/** The prompt tokens each fake reports for a call. */
export const PROMPT_TOKENS = { openai: 1000, anthropic: 2000, gemini: 4000 };

export const LOOKUP = {
  type: 'function',
  function: {
    name: 'lookup',
    description: 'Find a card',
    parameters: { type: 'object', properties: { q: { type: 'integer' } }, required: ['q'] },
  },
};

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run this suite through services/provider-router/tests/test_conformance_node.py`);
  }
  return value;
}

/** An SDK client as a customer would make one, with the router's caller metadata and no SDK retries. */
export function client(options = {}) {
  return new OpenAI({
    apiKey: ROUTER_TOKEN,
    baseURL: `${ROUTER_URL}/v1`,
    defaultHeaders: CALL_HEADERS,
    maxRetries: 0,
    ...options,
  });
}

export function user(text) {
  return { role: 'user', content: text };
}

async function control(method, path, body) {
  const response = await fetch(`${HARNESS_URL}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(response.status, 200, `harness ${method} ${path}: ${await response.clone().text()}`);
  return response.json();
}

/** Queue the fake's next answers for ``api`` (``ok-tools``, ``ok-parallel``, ``ok-json``, ``stall``…). */
export function script(api, ...scenarios) {
  return control('POST', `/script/${api}`, { scenarios });
}

/** Every request ``api``'s fake received since the case began, and the requests it refused as its API would. */
export function received(api) {
  return control('GET', `/requests/${api}`);
}

/** The last request ``api``'s fake accepted; the case fails if the fake refused any (a translation bug). */
export async function sent(api) {
  const { requests, rejections } = await received(api);
  assert.deepEqual(rejections, [], `the ${api} fake refused what the router sent`);
  assert.ok(requests.length > 0, `nothing reached the ${api} fake`);
  return requests.at(-1);
}

/** The ``usage.recorded`` events the router has published, oldest first. */
export async function usage() {
  return (await control('GET', '/usage')).events;
}

/** The usage records of ``model`` after the first ``after`` records, once there are ``count`` of them (polled,
 * with a deadline). */
export async function usageWhen(after, model, count, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const records = (await usage()).slice(after).filter((record) => record.model === model);
    if (records.length >= count || Date.now() > deadline) {
      return records;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Every case starts on fakes with empty scripts and no recorded requests. */
export function freshFakesForEachCase() {
  beforeEach(() => control('POST', '/reset'));
}
