/** Alerts published to an SNS topic (email/SMS subscriptions are configured in the stack). */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Alert, AlertPort } from '../../ports';

export class SnsAlerts implements AlertPort {
  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
  ) {}

  /** Subject `SEVERITY TYPE` (≤ 100 chars, SNS's limit); body is the message plus JSON details. */
  async publish(alert: Alert): Promise<void> {
    await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: `${alert.severity} ${alert.type}`.slice(0, 100),
        Message: `${alert.message}\n\n${JSON.stringify(alert, null, 2)}`,
        MessageAttributes: {
          severity: { DataType: 'String', StringValue: alert.severity },
          type: { DataType: 'String', StringValue: alert.type },
        },
      }),
    );
  }
}
