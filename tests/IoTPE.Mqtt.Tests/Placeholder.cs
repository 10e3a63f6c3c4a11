namespace IoTPE.Mqtt.Tests;
