// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';

// React 19's scheduler prefers MessageChannel; Node's keeps jest from exiting, so a timer-based one stands in.
class TimerMessageChannel {
  constructor() {
    const make = () => ({ onmessage: null, postMessage: undefined, close() {} });
    this.port1 = make();
    this.port2 = make();
    this.port1.postMessage = (data) => setTimeout(() => this.port2.onmessage?.({ data }), 0);
    this.port2.postMessage = (data) => setTimeout(() => this.port1.onmessage?.({ data }), 0);
  }
}
global.MessageChannel = TimerMessageChannel;

// jsdom has no canvas; Grafana 13's Combobox measures option text to size its menu. A fixed-width measure stands in.
HTMLCanvasElement.prototype.getContext = function getContext() {
  return { font: '', measureText: (text) => ({ width: String(text).length * 7 }) };
};

// Grafana always has a TemplateSrv; tests run as on a dashboard without variables unless they declare some. (A
// require, not an import: imports are hoisted above the MessageChannel that @grafana/runtime needs when it loads.)
require('./src/test-support/template-srv').useVariables([]);
