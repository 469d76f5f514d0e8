import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiAlert, labelsFingerprint, webhookAlert, webhookMessage, ZERO_TIME } from '../../../collector/alarms/alertmanager-payload.js';
import type { AlertInstance } from '../../../model/alarm.js';

test('the fingerprint is Prometheus\'s label signature, as Alertmanager prints it', () => {
  // Values from prometheus/common's model tests (LabelsToSignature).
  assert.equal(labelsFingerprint({}), BigInt('14695981039346656037').toString(16));
  assert.equal(labelsFingerprint({ name: 'garland, briggs', fear: 'love is not enough' }), BigInt('5799056148416392346').toString(16).padStart(16, '0'));
});

test('firing and resolved alerts in the webhook receiver\'s version 4 body', () => {
  const firing: AlertInstance = {
    fingerprint: 'aa', labels: { alertname: 'HighCpu', container_name: 'web', severity: 'page' }, annotations: { summary: 's', value: '97' },
    state: 'firing', value: 97, activeSinceMs: Date.UTC(2026, 0, 1), firedAtMs: Date.UTC(2026, 0, 1, 0, 1),
  };
  const other: AlertInstance = { ...firing, fingerprint: 'bb', labels: { ...firing.labels, container_name: 'api' }, annotations: { summary: 's', value: '91' } };
  const msg = webhookMessage('HighCpu', 'firing', [webhookAlert(firing, 'http://ui/#/alarms'), webhookAlert(other, 'http://ui/#/alarms')], 'http://ui/#/alarms');
  assert.equal(msg.version, '4');
  assert.equal(msg.groupKey, '{}:{alertname="HighCpu"}');
  assert.equal(msg.status, 'firing');
  assert.deepEqual(msg.groupLabels, { alertname: 'HighCpu' });
  assert.deepEqual(msg.commonLabels, { alertname: 'HighCpu', severity: 'page' });
  assert.deepEqual(msg.commonAnnotations, { summary: 's' });
  assert.deepEqual(msg.alerts[0], {
    status: 'firing', labels: firing.labels, annotations: firing.annotations, startsAt: '2026-01-01T00:01:00.000Z', endsAt: ZERO_TIME,
    generatorURL: 'http://ui/#/alarms', fingerprint: 'aa',
  });
  const resolved = webhookAlert({ ...firing, state: 'resolved', resolvedAtMs: Date.UTC(2026, 0, 1, 0, 5) }, 'u');
  assert.equal(resolved.status, 'resolved');
  assert.equal(resolved.endsAt, '2026-01-01T00:05:00.000Z');
  const api = apiAlert(firing, 'u', 240_000, Date.UTC(2026, 0, 1, 0, 2));
  assert.deepEqual(api, { labels: firing.labels, annotations: firing.annotations, startsAt: '2026-01-01T00:01:00.000Z', endsAt: '2026-01-01T00:06:00.000Z', generatorURL: 'u' });
});
