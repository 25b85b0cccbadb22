/** Kill switch stored as an SSM String parameter (the owner toggles it in the AWS console). */
import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { KillSwitchPort, RawParameter } from '../../ports';

export class SsmKillSwitch implements KillSwitchPort {
  constructor(
    private readonly ssm: SSMClient,
    private readonly parameterName: string,
  ) {}

  /** Fresh GetParameter on every call: no cache, so a console change applies to the next read. */
  async read(): Promise<RawParameter> {
    const out = await this.ssm.send(new GetParameterCommand({ Name: this.parameterName }));
    const value = out.Parameter?.Value;
    if (value === undefined) throw new Error(`parameter ${this.parameterName} has no value`);
    return {
      value,
      ...(out.Parameter?.LastModifiedDate ? { lastModified: out.Parameter.LastModifiedDate.toISOString() } : {}),
    };
  }

  async write(value: string): Promise<void> {
    await this.ssm.send(new PutParameterCommand({ Name: this.parameterName, Value: value, Type: 'String', Overwrite: true }));
  }
}
