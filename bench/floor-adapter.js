#!/usr/bin/env node
/**
 * Latency floor for the adapter benchmark (`npm run bench`): a minimal debug adapter on
 * @vscode/debugadapter over stdio that answers the same requests as the real one with no
 * work — one thread, one frame, two scopes of fixed variables, a stop after every step,
 * and readMemory from a buffer prepared at start (so the 64 KiB payload still crosses the
 * pipe, base64 encoded, as the real one's does). What it measures is the cost of the
 * process boundary, DAP framing and JSON; the real adapter's latencies are reported as
 * ratios to it, measured in the same run.
 */
'use strict';
const { DebugSession, InitializedEvent, StoppedEvent, TerminatedEvent, Thread, StackFrame, Scope, Source } = require('@vscode/debugadapter');

const MEMORY = Buffer.alloc(1 << 20);
for (let i = 0; i < MEMORY.length; i++) MEMORY[i] = (i * 131) & 0xff;

class FloorSession extends DebugSession {
  initializeRequest(response) {
    response.body = {
      supportsConfigurationDoneRequest: true,
      supportsStepBack: true,
      supportsReadMemoryRequest: true,
      supportsFunctionBreakpoints: true,
    };
    this.sendResponse(response);
  }
  launchRequest(response, args) {
    this.scenario = args && args.scenario;
    this.stopOnEntry = !args || args.stopOnEntry !== false;
    this.sendResponse(response);
    this.sendEvent(new InitializedEvent());
  }
  configurationDoneRequest(response) {
    this.sendResponse(response);
    if (this.stopOnEntry) this.sendEvent(new StoppedEvent('entry', 1));
  }
  setBreakPointsRequest(response, args) {
    response.body = { breakpoints: (args.breakpoints || []).map((b) => ({ verified: true, line: b.line })) };
    this.sendResponse(response);
  }
  setFunctionBreakPointsRequest(response, args) {
    response.body = { breakpoints: (args.breakpoints || []).map(() => ({ verified: true })) };
    this.sendResponse(response);
  }
  threadsRequest(response) {
    response.body = { threads: [new Thread(1, 'scenario')] };
    this.sendResponse(response);
  }
  stackTraceRequest(response) {
    const f = new StackFrame(1, 'floor', new Source('floor.visor', this.scenario), 1, 1);
    response.body = { stackFrames: [f], totalFrames: 1 };
    this.sendResponse(response);
  }
  scopesRequest(response) {
    response.body = { scopes: [new Scope('Channel header', 1, false), new Scope('Signal queues', 2, false)] };
    this.sendResponse(response);
  }
  variablesRequest(response, args) {
    const vars = [];
    for (let i = 0; i < 24; i++) vars.push({ name: `field${i}`, value: String(i), variablesReference: 0 });
    response.body = { variables: vars };
    this.sendResponse(response);
  }
  step(response, reason) {
    this.sendResponse(response);
    this.sendEvent(new StoppedEvent(reason, 1));
  }
  continueRequest(response) {
    response.body = { allThreadsContinued: true };
    this.step(response, 'breakpoint');
  }
  nextRequest(response) {
    this.step(response, 'step');
  }
  stepInRequest(response) {
    this.step(response, 'step');
  }
  stepOutRequest(response) {
    this.step(response, 'step');
  }
  stepBackRequest(response) {
    this.step(response, 'step');
  }
  readMemoryRequest(response, args) {
    const off = Number(args.offset || 0) & 0x7ffff;
    const n = Math.min(Number(args.count || 0), MEMORY.length - off);
    response.body = { address: args.memoryReference, data: MEMORY.subarray(off, off + n).toString('base64') };
    this.sendResponse(response);
  }
  disconnectRequest(response) {
    this.sendResponse(response);
    this.sendEvent(new TerminatedEvent());
    setTimeout(() => process.exit(0), 10);
  }
  customRequest(command, response) {
    response.body = {};
    this.sendResponse(response);
  }
}

const session = new FloorSession();
session.setRunAsServer(false);
session.start(process.stdin, process.stdout);
