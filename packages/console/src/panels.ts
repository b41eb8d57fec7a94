/**
 * The five panel types of a dashboard definition, by `panel_type`: stat, gauge and table as plain elements; graph and
 * heatmap drawn by uPlot (the chart library of Grafana's time series panel). A panel keeps what it has shown: a
 * graph's points stay across reconnects and restarts of the service, and new values are appended.
 */
import type { PanelData, PanelValue } from '@data-streaming/protocol';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { clear, h } from './dom';
import { formatValue, gaugeMax } from './format';

/** Points a graph keeps (at one update per second, 30 minutes). */
const MAX_POINTS = 1800;
const PALETTE = ['#7eb26d', '#eab839', '#6ed0e0', '#ef843c', '#e24d42', '#1f78c1', '#ba43a9', '#705da0', '#508642', '#cca300'];

export interface PanelView {
  readonly element: HTMLElement;
  /** A new value of the panel at time `at` (ms). */
  update(panel: PanelData, at: number): void;
}

/** A panel's single figure: its scalar, or the largest of its series (what a stat or a tile shows). */
export const scalarOf = (value: PanelValue | null): number | null =>
  value === null
    ? null
    : value.kind === 'scalar'
      ? value.value
      : value.series.reduce<number | null>((max, item) => (item.value === null ? max : Math.max(max ?? -Infinity, item.value)), null);

function partialNote(value: PanelValue | null): string | undefined {
  if (!value?.partial) return undefined;
  return `from ${Math.round(value.partial.covered_seconds)} s of its ${value.partial.window_seconds} s window`;
}

class StatView implements PanelView {
  readonly element = h('div', { class: 'stat' });
  update(panel: PanelData): void {
    clear(this.element);
    const value = scalarOf(panel.value);
    this.element.append(
      h('div', { class: 'stat-value', 'data-value': value === null ? '' : String(value) }, formatValue(value, panel.unit)),
    );
    const note = partialNote(panel.value);
    if (note) this.element.append(h('div', { class: 'note' }, note));
  }
}

class GaugeView implements PanelView {
  readonly element = h('div', { class: 'gauge' });
  update(panel: PanelData): void {
    clear(this.element);
    const value = scalarOf(panel.value);
    const max = value === null ? 1 : gaugeMax(panel.unit, value);
    const share = value === null ? 0 : Math.min(1, Math.max(0, value / max));
    const bar = h('div', { class: 'gauge-bar', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': max, 'aria-valuenow': value ?? 0 });
    const fill = h('div', { class: `gauge-fill${share > 0.9 ? ' hot' : share > 0.75 ? ' warm' : ''}` });
    fill.style.width = `${(share * 100).toFixed(1)}%`;
    bar.append(fill);
    this.element.append(
      h('div', { class: 'stat-value', 'data-value': value === null ? '' : String(value) }, formatValue(value, panel.unit)),
      bar,
    );
  }
}

class TableView implements PanelView {
  readonly element = h('div', { class: 'table-wrap' });
  update(panel: PanelData): void {
    clear(this.element);
    const value = panel.value;
    if (value === null) {
      this.element.append(h('div', { class: 'no-data' }, 'No data'));
      return;
    }
    const rows = value.kind === 'scalar' ? [{ label: panel.title, value: value.value }] : value.series;
    const label = value.kind === 'series' ? value.label : 'value';
    this.element.append(
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, label), h('th', { scope: 'col', class: 'num' }, 'value'))),
        h(
          'tbody',
          {},
          ...rows.map((row) =>
            h(
              'tr',
              {},
              h('td', {}, row.label),
              h('td', { class: 'num', 'data-value': String(row.value ?? '') }, formatValue(row.value, panel.unit)),
            ),
          ),
        ),
      ),
    );
  }
}

/** Points over time, one series per label (or one for a scalar), for graphs and heatmaps alike. */
class Series {
  readonly times: number[] = [];
  readonly labels: string[] = [];
  readonly values: (number | null)[][] = [];

  add(value: PanelValue | null, at: number): void {
    const seconds = at / 1000;
    const last = this.times[this.times.length - 1];
    if (last !== undefined && seconds < last) return; // replayed history older than what is shown
    const items = value === null ? [] : value.kind === 'scalar' ? [{ label: 'value', value: value.value }] : value.series;
    for (const item of items) {
      if (!this.labels.includes(item.label)) {
        this.labels.push(item.label);
        this.values.push(this.times.map(() => null));
      }
    }
    if (last !== undefined && seconds === last) (this.times.pop(), this.values.forEach((column) => column.pop()));
    this.times.push(seconds);
    this.labels.forEach((label, index) => this.values[index]?.push(items.find((item) => item.label === label)?.value ?? null));
    if (this.times.length > MAX_POINTS) {
      this.times.shift();
      this.values.forEach((column) => column.shift());
    }
  }

  data(): uPlot.AlignedData {
    return [this.times, ...this.values] as uPlot.AlignedData;
  }
}

function size(element: HTMLElement): { width: number; height: number } {
  return { width: Math.max(200, element.clientWidth || 400), height: 180 };
}

/** A chart of a panel's values over time: the points it keeps, its uPlot, redrawn as the panel and page resize. */
abstract class ChartView implements PanelView {
  abstract readonly element: HTMLElement;
  protected readonly series = new Series();
  protected plot: uPlot | undefined;
  protected unit: string | null = null;
  private readonly resize = new ResizeObserver(() => this.plot?.setSize(size(this.element)));

  update(panel: PanelData, at: number): void {
    if (!this.plot) this.resize.observe(this.element);
    this.unit = panel.unit;
    this.series.add(panel.value, at);
    // A new series (a label not seen before) needs a new plot; otherwise only the data changes.
    if (!this.plot || this.plot.series.length - 1 !== this.series.labels.length) {
      this.plot?.destroy();
      this.plot = new uPlot(this.options(), this.series.data(), this.element);
    } else this.plot.setData(this.series.data());
    this.element.dataset.points = String(this.series.times.length);
  }

  protected abstract options(): uPlot.Options;

  /**
   * Axes in the chart's text colour, read when uPlot draws (a canvas cannot take `currentColor`, and the element is
   * not in the page yet when the plot is made), grid lines fainter: right in either theme.
   */
  protected axis(extra: Partial<uPlot.Axis> = {}): uPlot.Axis {
    return {
      stroke: (plot) => getComputedStyle(plot.root).color,
      grid: { stroke: 'rgba(128, 128, 128, 0.25)' },
      ticks: { stroke: 'rgba(128, 128, 128, 0.4)' },
      ...extra,
    };
  }
}

class GraphView extends ChartView {
  readonly element = h('div', { class: 'chart' });

  protected options(): uPlot.Options {
    const unit = this.unit;
    return {
      ...size(this.element),
      // Labels only: values at the cursor would read "No data" whenever the cursor is off the chart.
      legend: { show: this.series.labels.length > 1, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [this.axis(), this.axis({ size: 96, values: (_plot, ticks) => ticks.map((tick) => formatValue(tick, unit)) })],
      series: [
        {},
        ...this.series.labels.map((label, index) => ({
          label,
          stroke: PALETTE[index % PALETTE.length] as string,
          width: 1.5,
          spanGaps: true,
          value: (_plot: uPlot, value: number | null) => formatValue(value, unit),
        })),
      ],
    };
  }
}

/** Cells over time: one row per label, each cell's colour its value against the largest value shown. */
class HeatmapView extends ChartView {
  readonly element = h('div', { class: 'chart heatmap' });

  protected options(): uPlot.Options {
    const series = this.series;
    const unit = this.unit;
    const draw = (plot: uPlot): void => {
      const context = plot.ctx;
      const { left, top, width, height } = plot.bbox;
      const rows = series.labels.length;
      const times = series.times;
      if (rows === 0 || times.length === 0) return;
      const max = Math.max(1e-12, ...series.values.flat().map((value) => value ?? 0));
      const rowHeight = height / rows;
      context.save();
      for (let column = 0; column < times.length; column++) {
        const x0 = plot.valToPos(times[column] as number, 'x', true);
        const x1 = column + 1 < times.length ? plot.valToPos(times[column + 1] as number, 'x', true) : left + width;
        for (let row = 0; row < rows; row++) {
          const value = series.values[row]?.[column];
          if (value === null || value === undefined) continue;
          const share = value / max;
          context.fillStyle = `hsl(${(1 - share) * 120}, 70%, ${35 + share * 20}%)`;
          context.fillRect(x0, top + row * rowHeight, Math.max(1, x1 - x0), rowHeight - 1);
        }
      }
      context.restore();
    };
    return {
      ...size(this.element),
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: { x: { time: true }, y: { range: [0, Math.max(1, series.labels.length)] } },
      axes: [
        this.axis(),
        this.axis({
          size: Math.min(220, 16 + 7 * Math.max(4, ...series.labels.map((label) => label.length))),
          grid: { show: false },
          splits: () => series.labels.map((_label, index) => series.labels.length - index - 0.5),
          values: () => series.labels,
        }),
      ],
      series: [
        {},
        ...series.labels.map((label) => ({
          label,
          stroke: 'transparent',
          value: (_plot: uPlot, value: number | null) => formatValue(value, unit),
        })),
      ],
      hooks: { draw: [draw] },
    };
  }
}

export function panelView(type: PanelData['panel_type']): PanelView {
  switch (type) {
    case 'stat':
      return new StatView();
    case 'gauge':
      return new GaugeView();
    case 'table':
      return new TableView();
    case 'graph':
      return new GraphView();
    case 'heatmap':
      return new HeatmapView();
  }
}
