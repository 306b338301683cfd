async def test_viewer(tenant):
    body = await tenant.graphql("{ viewer { organization { id name } apiKey { prefix } } }")
    print(body)
    assert body["data"]["viewer"]["organization"]["name"] == "Acme"
