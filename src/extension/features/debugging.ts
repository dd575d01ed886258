/** The `visorbus` debugger: launch/attach configuration providers and the adapter factory. */
import * as vscode from 'vscode';
import { VisorbusAdapterFactory, VisorbusConfigurationProvider } from '../debug/configuration';
import { DEBUG_TYPE } from '../debug/sessions';
import { VisorbusCore } from './core';

export function registerDebugging(core: VisorbusCore): VisorbusConfigurationProvider {
  const provider = new VisorbusConfigurationProvider(core.output);
  core.context.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, provider),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, provider, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, new VisorbusAdapterFactory(core.context, core.output)),
  );
  return provider;
}
