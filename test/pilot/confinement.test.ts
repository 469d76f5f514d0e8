import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execIn, runContainer, waitFor } from '../helpers/docker.js';
import { PilotDirs, PilotProcess } from './pilot-process.js';

test('a hostile container reads nothing outside itself: links to system files, to another container, up through "..", swapped later', async (t) => {
  const other = await runContainer(t, { name: 'victim', cmd: ['sh', '-c', 'echo victim-secret > /secret.txt; echo victim-stdout-secret; sleep 3600'] });
  const victim = await other.inspect();
  const merged = (victim.GraphDriver.Data as unknown as { MergedDir?: string } | undefined)?.MergedDir ?? '';
  assert.ok(merged !== '', 'the engine reports the victim\'s writable layer');
  const hostile = await runContainer(t, {
    name: 'hostile',
    volumes: ['/data'],
    labels: {
      'aliyun.logs.shadow': '/data/shadow.log',
      'aliyun.logs.up': '/data/up.log',
      'aliyun.logs.dirlink': '/data/dirlink/etc/shadow',
      'aliyun.logs.other': '/data/other.log',
      'aliyun.logs.otherlog': '/data/otherlog.log',
      'aliyun.logs.dots': '/data/../etc/shadow',
      'aliyun.logs.glob': '/data/*.log',
      'aliyun.logs.layer': '/var/log/evil.log',
    },
    cmd: ['sh', '-c', [
      'echo container-shadow-secret > /etc/shadow',
      'mkdir -p /var/log',
      'ln -s /etc/shadow /data/shadow.log',
      'ln -s ../../../../../../etc/shadow /data/up.log',
      'ln -s / /data/dirlink',
      `ln -s ${merged}/secret.txt /data/other.log`,
      `ln -s ${victim.LogPath} /data/otherlog.log`,
      'ln -s /proc/1/root/etc/shadow /var/log/evil.log',
      'echo real-line >> /data/real.log',
      'sleep 3600',
    ].join('; ')],
  });
  const dirs = new PilotDirs(t);
  const pilot = await PilotProcess.start(t, dirs);
  await waitFor(() => dirs.records(hostile.id).some((r) => r.message === 'real-line'), { what: 'the hostile container\'s own file' });

  // A file read legitimately, then swapped for a link to a system file, is not followed either.
  await execIn(hostile.id, ['sh', '-c', 'rm /data/real.log; ln -s /etc/shadow /data/real.log; echo more >> /etc/shadow']);
  await new Promise((r) => setTimeout(r, 1500));

  const records = dirs.records(hostile.id);
  assert.deepEqual(records.map((r) => [r.target, r.message]), [['glob', 'real-line']]);
  const everything = JSON.stringify(dirs.records());
  assert.doesNotMatch(everything, /secret|root:/, 'no record anywhere holds what the links point at');

  const refused = pilot.logs('path refused').filter((l) => l.container === hostile.name).map((l) => `${String(l.label)}: ${String(l.reason)}`);
  for (const label of ['shadow', 'up', 'dirlink', 'glob']) {
    assert.ok(refused.some((r) => r.startsWith(`aliyun.logs.${label}:`)), `aliyun.logs.${label} is refused and reported: ${refused.join(' | ')}`);
  }
  assert.ok(pilot.logs('path refused').every((l) => l.code === 'SW_PATH_REFUSED'));
  const skipped = pilot.logs('log declaration skipped').find((l) => l.container === hostile.name && l.label === 'aliyun.logs.dots');
  assert.match(String(skipped?.reason), /\.\./);
  assert.match(await pilot.metrics(), /shipwatch_pilot_paths_refused_total\{program="pilot"\} [1-9]/);
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });
});
