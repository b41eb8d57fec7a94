import { busOptions } from '../../../test/support/factories';
import { MemoryBus } from '../../bus/memory.bus';
import { conflater } from './conflation';

const panel = (panel_id: string, value: number) => ({ panel_id, value });

describe('conflation', () => {
  it('merges dashboard updates panel by panel, later ones winning, from the last full update on', async () => {
    const bus = new MemoryBus(busOptions(100));
    const updates = await bus.publish(
      'dashboard.operational_overview',
      [
        { full: false, cursor: 'e:1', panels: [panel('a', 1), panel('b', 1)] },
        { full: true, cursor: 'e:2', panels: [panel('a', 2), panel('b', 2), panel('c', 2)] },
        { full: false, cursor: 'e:3', panels: [panel('b', 3)] },
        { full: false, cursor: 'e:4', panels: [panel('c', 4)] },
      ].map((data) => ({ type: 'dashboard.update', key: 'operational_overview', data: { dashboard: 'operational_overview', ...data } })),
    );
    const merged = conflater('panels')(updates);
    expect(merged?.id).toBe(updates.at(-1)?.id);
    expect(merged?.event).toMatchObject({
      conflated: 4,
      key: 'operational_overview',
      data: { dashboard: 'operational_overview', cursor: 'e:4', full: true, panels: [panel('a', 2), panel('b', 3), panel('c', 4)] },
    });
    // The wire text says the same: this is what subscribers get.
    expect(JSON.parse(merged?.payload ?? '{}')).toMatchObject({ kind: 'event', conflated: 4 });
  });

  it('does not merge across epochs', async () => {
    const first = await new MemoryBus(busOptions(10)).publish('high_frequency.x', [{ type: 't', data: { values: { a: 1 } } }]);
    const second = await new MemoryBus(busOptions(10)).publish('high_frequency.x', [{ type: 't', data: { values: { a: 2 } } }]);
    expect(conflater('values')([...first, ...second])).toBeUndefined();
  });
});
