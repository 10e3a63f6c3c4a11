namespace IoTPE.Mqtt;
