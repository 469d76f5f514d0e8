/** A ContainerMeta written by hand, as the runtime fills it from docker inspect. */
import type { ContainerMeta } from '../../model/container.js';

export function containerMeta(over: Partial<ContainerMeta> = {}): ContainerMeta {
  return {
    id: 'f'.repeat(12) + '0123456789abcdef'.repeat(3) + '0123',
    name: 'shop-web-1',
    labels: {},
    env: {},
    app: '',
    service: '',
    k8sPod: '',
    k8sNamespace: '',
    k8sContainer: '',
    ...over,
  };
}
